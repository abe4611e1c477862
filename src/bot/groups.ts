import type { WebClient } from '@slack/web-api';

/**
 * Which of the user groups named in the access rules a user belongs to. Only those groups are
 * asked for, and their members are cached for a minute (group changes are rare, clicks are not).
 */
export class SlackGroupResolver {
  private readonly cache = new Map<string, { members: Set<string>; until: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly groups: readonly string[],
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async groupsOf(user: string): Promise<string[]> {
    const out: string[] = [];
    for (const g of this.groups) if ((await this.members(g)).has(user)) out.push(g);
    return out;
  }

  private async members(group: string): Promise<Set<string>> {
    const hit = this.cache.get(group);
    if (hit && hit.until > this.now()) return hit.members;
    try {
      const res = await this.client.usergroups.users.list({ usergroup: group });
      const members = new Set(res.users ?? []);
      this.cache.set(group, { members, until: this.now() + this.ttlMs });
      return members;
    } catch {
      // A group that cannot be read grants nothing (deny by default), and is retried next time.
      return new Set();
    }
  }
}
