"""A small re-identification network for the generated scenes' objects.

``network`` holds the model and its input transform, ``crops`` the identity-labelled crops
cut from generated scenes, ``training`` the offline training behind
``visiontrack model train-reid``.
"""
