"""State: what ctconfig manages, where it lives, and its history."""
