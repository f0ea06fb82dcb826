/// <reference types="vite/client" />

declare module "virtual:icons" {
  import type { IconifyJSON } from "@iconify/types";
  const icons: IconifyJSON;
  export default icons;
}
