"""Crons: their table (`store`, the only place with SQL on keel.crons) and their schedules (`schedule`)."""
