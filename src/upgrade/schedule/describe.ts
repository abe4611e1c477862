/**
 * `/milvus windows [release]` (issue 28): what applies, said as a person reads it. For a
 * release: its windows (the next opening of each), the freezes that cover it now or later, and
 * when an upgrade approved now would start. Without one: every rule of the policy file. Pure.
 */
import { scheduleFor, type SchedulePolicy, type ScheduleTarget } from './policy.js';
import { whenToRun, slotText, type Freeze } from './when.js';
import { localText, openings, type WeeklyWindow } from './windows.js';

function freezeLine(f: Freeze, zone: string): string {
  return `${f.reason}: ${localText(f.from, zone)} until ${localText(f.to, zone)} (${f.mode === 'refuse' ? 'new runs refused' : 'runs held until it ends'})`;
}

function windowLine(w: WeeklyWindow, now: number): string {
  const next = openings(w, now, 8)[0];
  return `${w.text}${next ? ` (${next.start <= now ? `open now, closes ${localText(next.end, w.zone)}` : `next opens ${localText(next.start, w.zone)}`})` : ''}`;
}

export function releaseScheduleText(policy: SchedulePolicy, target: ScheduleTarget, now: number, expectedHopSeconds: number): string {
  const { windows, freezes } = scheduleFor(policy, target);
  const zone = windows[0]?.zone ?? 'UTC';
  const current = freezes.filter((f) => f.to > now);
  const lines = [`Maintenance windows of ${target.namespace}/${target.release} (cluster ${target.cluster}):`];
  lines.push(windows.length > 0 ? windows.map((w) => `• ${windowLine(w, now)}`).join('\n') : '• none: upgrades run when approved');
  lines.push(current.length > 0 ? `Freezes:\n${current.map((f) => `• ${freezeLine(f, zone)}`).join('\n')}` : 'Freezes: none now or ahead');
  lines.push(`An upgrade approved now (a hop expected to take ${Math.round(expectedHopSeconds / 60)} min): ${slotText(whenToRun(windows, freezes, now, expectedHopSeconds), zone)}`);
  lines.push('Rollbacks and restores are never held.');
  return lines.join('\n');
}

const scopeWords = (s: { clusters?: readonly string[]; namespaces?: readonly string[]; releases?: readonly string[] }) =>
  [s.clusters ? `clusters ${s.clusters.join(', ')}` : null, s.namespaces ? `namespaces ${s.namespaces.join(', ')}` : null, s.releases ? `releases ${s.releases.join(', ')}` : null].filter(Boolean).join(', ') || 'everything';

export function policyText(policy: SchedulePolicy, now: number): string {
  if (policy.windows.length === 0 && policy.freezes.length === 0) return 'No maintenance windows or freezes are set: upgrades run when approved.';
  const lines = ['Maintenance windows (a release\'s own rules over its namespace\'s over its cluster\'s over everyone\'s):'];
  for (const r of policy.windows) lines.push(`• ${scopeWords(r)}: ${r.weekly.map((w) => windowLine(w, now)).join('; ')}`);
  if (policy.windows.length === 0) lines.push('• none');
  const ahead = policy.freezes.filter((r) => r.freeze.to > now);
  lines.push('Freezes:');
  for (const r of ahead) lines.push(`• ${scopeWords(r)}: ${freezeLine(r.freeze, 'UTC')}`);
  if (ahead.length === 0) lines.push('• none now or ahead');
  lines.push('`/milvus windows <release> -n <namespace>` says when an upgrade of it would run.');
  return lines.join('\n');
}
