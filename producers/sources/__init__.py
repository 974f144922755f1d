"""Where frames come from.

Finite sources are iterators of :class:`~producers.frames.SourceFrame` published losslessly
as jobs: video files (:mod:`producers.video_file`), images (:mod:`.images`) and generated
scenes (:mod:`producers.synthetic_job`). Live sources implement :class:`.live.LiveSource`:
network streams and camera devices through OpenCV (:mod:`.opencv`) and looping generated
scenes (:mod:`.synthetic`); :func:`.camera.parse_camera` tells them apart.
"""
