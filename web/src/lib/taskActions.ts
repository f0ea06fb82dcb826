// What the list and the detail page do to a task, with the toasts that report it.
import { useToast } from "@nuxt/ui/composables";
import { api } from "./api";
import type { Task } from "./types";

export function useTaskActions() {
  const toast = useToast();
  const failed = (what: string, e: unknown) =>
    toast.add({
      title: what,
      description: (e as Error).message,
      color: "error",
      icon: "i-lucide-circle-alert",
    });

  /// Runs the task now; the toast links to the task with the new execution opened.
  async function run(task: Task): Promise<void> {
    try {
      const { executionId } = await api<{ executionId: string }>(
        "POST",
        `/api/scheduler/tasks/${task.id}/trigger`,
      );
      toast.add({
        title: `${task.name} queued`,
        description: `Execution ${executionId}`,
        color: "success",
        icon: "i-lucide-play",
        actions: [
          {
            label: "Open",
            to: `/tasks/${task.id}?execution=${executionId}`,
            variant: "outline",
            color: "neutral",
          },
        ],
      });
    } catch (e) {
      failed(`Cannot run ${task.name}`, e);
    }
  }

  /// Pauses (with an optional note saying why) or resumes; the task as it is now, or null
  /// if that failed.
  async function setEnabled(task: Task, enabled: boolean, note?: string): Promise<Task | null> {
    try {
      const body = !enabled && note?.trim() ? { enabled, note: note.trim() } : { enabled };
      return await api<Task>("POST", `/api/scheduler/tasks/${task.id}/toggle`, body);
    } catch (e) {
      failed(`Cannot change ${task.name}`, e);
      return null;
    }
  }

  /// Deletes the task and its history; false if that failed.
  async function remove(task: Task): Promise<boolean> {
    try {
      await api("DELETE", `/api/scheduler/tasks/${task.id}`);
      toast.add({ title: `${task.name} deleted`, color: "neutral", icon: "i-lucide-trash-2" });
      return true;
    } catch (e) {
      failed(`Cannot delete ${task.name}`, e);
      return false;
    }
  }

  return { run, setEnabled, remove };
}
