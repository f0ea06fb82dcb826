import { createRouter, createWebHistory } from "vue-router";
import { onUnauthorized } from "./lib/api";

// A task id (UUID). `/admin/scheduler/:id` is the seed's address of a task's page: links
// and bookmarks made for it lead to ours.
const uuid = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

export const router = createRouter({
  history: createWebHistory("/admin/scheduler/"),
  routes: [
    { path: "/", name: "tasks", component: () => import("./pages/TaskList.vue") },
    { path: "/tasks/:id", name: "task", component: () => import("./pages/TaskDetail.vue") },
    { path: `/:id(${uuid})`, redirect: (to) => ({ name: "task", params: to.params, query: to.query }) },
    { path: "/executions", name: "executions", component: () => import("./pages/Executions.vue") },
    { path: "/channels", name: "channels", component: () => import("./pages/Channels.vue") },
    { path: "/audit", name: "audit", component: () => import("./pages/Audit.vue") },
    { path: "/login", name: "login", component: () => import("./pages/Login.vue") },
    { path: "/:pathMatch(.*)*", name: "not-found", component: () => import("./pages/NotFound.vue") },
  ],
});

// Any 401 from the API sends the user to the login, and back afterwards.
onUnauthorized(() => {
  const current = router.currentRoute.value;
  if (current.name !== "login") {
    void router.push({ name: "login", query: { redirect: current.fullPath } });
  }
});
