// One page of a server-side paged list (tasks, executions, a task's history): the page
// number, what the server answered, and whether it is loading or failed. Only the newest
// request's answer is shown, however the answers arrive; when the page shown has emptied
// (rows deleted elsewhere) it steps back to the last page that has rows. A 401 is left to
// the login (api.ts); other failures show as `error`, unless `handled` takes them.
import { ref, watch, type Ref } from "vue";
import { useNewest } from "./newest";
import type { Page } from "./types";

export interface PagedListOptions {
  pageSize?: number;
  page?: number;
  /// Takes a failure the view shows in its own way (a 404 as "no such task"): true if taken.
  handled?: (e: unknown) => boolean;
}

export function usePagedList<P extends Page<unknown>>(
  fetchPage: (page: number, pageSize: number) => Promise<P>,
  options: PagedListOptions = {},
) {
  const pageSize = options.pageSize ?? 20;
  const page = ref(options.page ?? 1);
  const data = ref(null) as Ref<P | null>;
  const { loading, error, load } = useNewest(
    () => fetchPage(page.value, pageSize),
    (answer) => {
      data.value = answer;
      const last = Math.max(1, Math.ceil(answer.total / pageSize));
      if (answer.list.length === 0 && page.value > last) page.value = last;
    },
    options.handled,
  );

  /// Back to the first page, loaded afresh (the filters changed).
  function restart() {
    if (page.value === 1) void load();
    else page.value = 1;
  }

  watch(page, () => void load());
  return { page, pageSize, data, loading, error, load, restart };
}
