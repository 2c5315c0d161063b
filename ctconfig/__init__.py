"""ctconfig: CleverTap API passcodes as code."""

__version__ = "0.1.0"
