"""Services: the workflows of annotator, each a function of a Session and plain values.

Nothing here imports Flask; the web blueprints and the CLI are thin wrappers.
"""
