import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const load = (name: string) => parse(readFileSync(join(import.meta.dirname, '..', '..', 'slack', name), 'utf8'));

describe('Slack app manifests', () => {
  it.each(['manifest.yaml', 'manifest-socket-mode.yaml'])('%s declares /milvus, interactivity and the scopes the bot uses', (name) => {
    const m = load(name);
    expect(m.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/milvus']);
    expect(m.settings.interactivity.is_enabled).toBe(true);
    expect(m.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['commands', 'chat:write', 'usergroups:read']));
    // Without these Slack never sends app_home_opened, and the Home stays empty.
    expect(m.features.app_home.home_tab_enabled).toBe(true);
    expect(m.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
  });

  it('HTTP mode points commands and buttons at the one Bolt endpoint; Socket Mode needs no URL', () => {
    const http = load('manifest.yaml');
    expect(http.features.slash_commands[0].url).toMatch(/\/slack\/events$/);
    expect(http.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    expect(http.settings.event_subscriptions.request_url).toMatch(/\/slack\/events$/);
    expect(http.settings.socket_mode_enabled).toBe(false);
    const socket = load('manifest-socket-mode.yaml');
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(socket.features.slash_commands[0].url).toBeUndefined();
    expect(socket.settings.event_subscriptions.request_url).toBeUndefined();
  });
});
