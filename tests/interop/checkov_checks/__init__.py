"""Custom checkov checks for ctconfig's resource types, as a team would write them."""
