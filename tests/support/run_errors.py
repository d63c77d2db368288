"""The error messages of a failed in-process Dagster run, causes included (the setting's own message is a cause)."""


def run_errors(result) -> list[str]:
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return messages
