"""Hooks of every job: after each step, the memory it freed goes back to the OS (see core/memory.py)."""

from dagster import HookContext, failure_hook, success_hook

from .core.memory import release_freed_memory


@success_hook(name="release_memory_after_step")
def release_memory_after_success(context: HookContext) -> None:
    release_freed_memory()


@failure_hook(name="release_memory_after_failed_step")
def release_memory_after_failure(context: HookContext) -> None:
    release_freed_memory()


STEP_HOOKS = {release_memory_after_success, release_memory_after_failure}
