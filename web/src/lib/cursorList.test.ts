import { describe, expect, test } from "vitest";
import { useCursorList } from "./cursorList";
import type { Execution, ExecutionPage } from "./types";

// A server holding executions "e1".."eN" (higher is newer), answering as the API does.
function server(count: number, cap = 10000) {
  const ids = Array.from({ length: count }, (_, i) => `e${count - i}`);
  const asked: (string | undefined)[] = [];
  const fetchPage = async (before: string | undefined, pageSize: number): Promise<ExecutionPage> => {
    asked.push(before);
    const start = before ? ids.findIndex((id) => Number(id.slice(1)) < Number(before.slice(1))) : 0;
    const rows = start < 0 ? [] : ids.slice(start, start + pageSize);
    const more = start >= 0 && start + pageSize < ids.length;
    return {
      list: rows.map((id) => ({ id }) as Execution),
      total: Math.min(ids.length, cap),
      totalExact: ids.length <= cap,
      page: 1,
      pageSize,
      nextCursor: more ? rows.at(-1)! : null,
    };
  };
  return { ids, asked, fetchPage };
}

const settled = () => new Promise((r) => setTimeout(r, 0));

describe("useCursorList", () => {
  test("steps older by the server's cursor and back newer to the same pages", async () => {
    const s = server(45);
    const list = useCursorList(s.fetchPage, { pageSize: 20 });
    await list.load();
    expect(list.data.value!.list[0].id).toBe("e45");
    expect(list.range.value).toBe("1-20");
    expect(list.total.value).toBe("45");
    list.older();
    await settled();
    expect(list.pageNumber.value).toBe(2);
    expect(list.range.value).toBe("21-40");
    expect(list.data.value!.list[0].id).toBe("e25");
    list.older();
    await settled();
    expect(list.range.value).toBe("41-45");
    expect(list.data.value!.nextCursor).toBeNull();
    list.newer();
    await settled();
    expect(list.data.value!.list[0].id).toBe("e25");
    expect(s.asked).toEqual([undefined, "e26", "e6", "e26"]);
  });

  test("a capped total shows as at least, and an emptied page steps back", async () => {
    const s = server(12000);
    const list = useCursorList(s.fetchPage, { pageSize: 20, before: "e3" });
    await list.load();
    await settled();
    expect(list.total.value).toBe("10,000+");
    expect(list.data.value!.list.map((e) => e.id)).toEqual(["e2", "e1"]);
    const empty = useCursorList(s.fetchPage, { pageSize: 20, before: "e1" });
    await empty.load();
    await settled();
    expect(empty.pageNumber.value).toBe(1);
    expect(empty.data.value!.list[0].id).toBe("e12000");
  });
});
