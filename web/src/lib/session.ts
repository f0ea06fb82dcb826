// Who is signed in and what their role lets them do, from GET /api/scheduler/me: asked once
// the app starts and again after each sign-in. The UI hides what the role may not do; the
// server refuses it anyway.
import { computed, ref } from "vue";
import { api, setToken } from "./api";

export type Role = "viewer" | "operator" | "admin";

export interface Me {
  actor: string;
  role: Role;
  authRequired: boolean;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const me = ref<Me | null>(null);

/// Asks the server who the current token belongs to; none (null) when it refuses.
export async function refreshMe(): Promise<Me | null> {
  try {
    me.value = await api<Me>("GET", "/api/scheduler/me");
  } catch {
    me.value = null;
  }
  return me.value;
}

/// Whether the signed-in role may do what `role` may. Until the server answered: no.
export function can(role: Role): boolean {
  return me.value !== null && rank[me.value.role] >= rank[role];
}

/// Reactive forms of can(), for templates.
export const canOperate = computed(() => can("operator"));
export const canAdminister = computed(() => can("admin"));

export function signOut() {
  setToken(null, false);
  me.value = null;
}
