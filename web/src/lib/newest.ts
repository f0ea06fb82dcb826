// A view's loads, of which only the newest counts: its answer is taken, however the answers
// arrive; its failure shows as `error` (a 401 is left to the login, api.ts), unless
// `handled` takes it; `loading` holds until the first answer.
//   const { loading, error, load } = useNewest(fetchIt, (answer) => (data.value = answer));
import { ref } from "vue";
import { ApiError } from "./api";

export function useNewest<T>(
  fetch: () => Promise<T>,
  take: (answer: T) => void,
  handled?: (e: unknown) => boolean,
) {
  const loading = ref(true);
  const error = ref<string | null>(null);
  let newest = 0;

  async function load() {
    const request = ++newest;
    try {
      const answer = await fetch();
      if (request !== newest) return;
      error.value = null;
      take(answer);
    } catch (e) {
      if (request !== newest) return;
      if (handled?.(e)) return;
      if (!(e instanceof ApiError && e.status === 401)) error.value = (e as Error).message;
    } finally {
      if (request === newest) loading.value = false;
    }
  }

  return { loading, error, load };
}
