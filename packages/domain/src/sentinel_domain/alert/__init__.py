"""Alerts: the value object every engine's detections become."""

from sentinel_domain.alert.entity import Alert, AlertAction, Component, alert_id

__all__ = ["Alert", "AlertAction", "Component", "alert_id"]
