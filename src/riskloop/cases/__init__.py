"""The people side of the loop: review cases grouped by entity, SLA, notes, four-eyes
approval and SAR drafts; operational tasks (alerts, failed jobs, screening hits)."""
