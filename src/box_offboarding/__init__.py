"""box-offboarding: cut off Box access for leavers."""
