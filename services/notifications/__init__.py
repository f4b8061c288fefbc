"""Notifications for people: deadline warnings, overdue incidents and failed VK answers, by e-mail
and Telegram, to the moderators and supervisors whose scope covers the incident. Here, on the
services floor, because who is notified is a matter of users and their scopes (services/auth),
which the sla slice does not see."""
