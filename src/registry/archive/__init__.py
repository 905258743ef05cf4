"""Archive handover: the E-ARK SIP package (package.py, model.py) and the registry side
(selection.py, handover.py, retention.py)."""
