// Executions a page at a time, newest first, by cursor: each page after the first starts
// after the last execution of the one before (the server's `nextCursor`), so a deep page
// costs the server what the first does. `older()` and `newer()` step; the cursors of the
// pages passed are kept so that `newer()` returns to exactly that page. Only the newest
// request's answer is shown; a page that has emptied (rows deleted elsewhere) steps back
// towards the first. A 401 is left to the login (api.ts); other failures show as `error`,
// unless `handled` takes them.
import { computed, ref, type Ref } from "vue";
import { useNewest } from "./newest";
import type { ExecutionPage } from "./types";

export interface CursorListOptions {
  pageSize?: number;
  /// The cursor of the page to show first (from the address bar).
  before?: string;
  /// Takes a failure the view shows in its own way (a 404 as "no such task"): true if taken.
  handled?: (e: unknown) => boolean;
}

export function useCursorList(
  fetchPage: (before: string | undefined, pageSize: number) => Promise<ExecutionPage>,
  options: CursorListOptions = {},
) {
  const pageSize = options.pageSize ?? 20;
  // The cursor of every page shown after the first, oldest last; a page entered by its
  // address starts the stack with that cursor.
  const cursors = ref<string[]>(options.before ? [options.before] : []);
  const data = ref(null) as Ref<ExecutionPage | null>;
  const before = computed(() => cursors.value.at(-1));
  const pageNumber = computed(() => cursors.value.length + 1);
  // The rows shown, counted from the newest: "21-40".
  const range = computed(() => {
    const shown = data.value?.list.length ?? 0;
    const first = (pageNumber.value - 1) * pageSize + 1;
    return shown === 0 ? "" : `${first}-${first + shown - 1}`;
  });
  const total = computed(() =>
    data.value === null
      ? ""
      : `${data.value.total.toLocaleString("en-US")}${data.value.totalExact ? "" : "+"}`,
  );

  const { loading, error, load } = useNewest(
    () => fetchPage(before.value, pageSize),
    (answer) => {
      if (answer.list.length === 0 && cursors.value.length > 0) {
        cursors.value = cursors.value.slice(0, -1);
        void load();
        return;
      }
      data.value = answer;
    },
    options.handled,
  );

  function older() {
    const next = data.value?.nextCursor;
    if (!next) return;
    cursors.value = [...cursors.value, next];
    void load();
  }

  function newer() {
    if (cursors.value.length === 0) return;
    cursors.value = cursors.value.slice(0, -1);
    void load();
  }

  /// Back to the first page, loaded afresh (the filters changed).
  function restart() {
    cursors.value = [];
    void load();
  }

  return { pageSize, data, loading, error, before, pageNumber, range, total, load, older, newer, restart };
}
