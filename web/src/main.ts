import { createApp } from "vue";
import ui from "@nuxt/ui/vue-plugin";
import { addCollection } from "@iconify/vue";
import icons from "virtual:icons";
import App from "./App.vue";
import { router } from "./router";
import "./assets/main.css";

addCollection(icons);

createApp(App).use(router).use(ui).mount("#app");
