// The current time as a ref that moves every `every` ms while the component is mounted,
// for "in 5 s" labels; the timer ends with the component.
import { onBeforeUnmount, onMounted, ref } from "vue";

export function useNow(every = 1000) {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => {
    timer = setInterval(() => (now.value = Date.now()), every);
  });
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}
