"""State: what ctconfig manages, where it lives, and its history.

`document` is the state itself (typed records); `backends.open_backend` turns
the config's `state:` section into a `StateBackend` (`base`); each backend is
its own module, imported only when the config names it. Nothing is imported
here, so reading a state document never loads a database driver.
"""
