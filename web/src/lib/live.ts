// Refreshes a view when the server reports a change, at most every `wait` ms, and tells
// whether the live stream is connected.
import { onBeforeUnmount, onMounted, ref } from "vue";
import { subscribe, type ServerEvent } from "./events";

export function useLive(refresh: (e: ServerEvent) => void, accepts: (e: ServerEvent) => boolean, wait = 300) {
  const connected = ref(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: ServerEvent | undefined;
  let stop = () => {};
  onMounted(() => {
    stop = subscribe(
      (e) => {
        if (!accepts(e)) return;
        last = e;
        timer ??= setTimeout(() => {
          timer = undefined;
          if (last) refresh(last);
        }, wait);
      },
      (up) => {
        connected.value = up;
      },
    );
  });
  onBeforeUnmount(() => {
    stop();
    clearTimeout(timer);
  });
  return { connected };
}
