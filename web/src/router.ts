import { createRouter, createWebHistory } from "vue-router";
import { onUnauthorized } from "./lib/api";

export const router = createRouter({
  history: createWebHistory("/admin/scheduler/"),
  routes: [
    { path: "/", name: "tasks", component: () => import("./pages/TaskList.vue") },
    { path: "/tasks/:id", name: "task", component: () => import("./pages/TaskDetail.vue") },
    { path: "/executions", name: "executions", component: () => import("./pages/Executions.vue") },
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
