"""Beat tasks of the moderators' queue: suspensions that ended are lifted, overdue cases are
emailed to the moderators (moderation.case_actions, moderation.queue)."""

from celery import shared_task

from moderation import case_actions, queue


@shared_task(ignore_result=True)
def lift_ended_suspensions() -> int:
    """Beat, every minute: suspensions past their end are lifted."""
    return case_actions.lift_ended_suspensions()


@shared_task(ignore_result=True)
def remind_overdue_cases() -> int:
    """Beat, hourly: email moderators the cases open past their service level."""
    return queue.remind_overdue_cases()
