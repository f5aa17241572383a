"""The read model's writer: judging batches of the log into rows, and storing them with the offsets.

The projector runs it live; `incidentctl rebuild` runs it into a new schema. `GROUP_ID` names the offsets both keep.
"""

GROUP_ID = "projector"
