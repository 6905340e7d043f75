// The child's avatar as inline SVG: a sun for an early bird, a moon for a night owl and
// a sprout for an intermediate (or not known yet) chronotype, with a face that shows how
// the child is right now.

import type { Chronotype } from './api';

export type Mood = 'calm' | 'tense' | 'stressed' | 'asleep' | 'unknown';

export const MOOD_LABEL: Record<Mood, string> = {
  calm: 'calm',
  tense: 'a bit tense',
  stressed: 'stressed',
  asleep: 'asleep',
  unknown: 'no recent readings',
};

export const CHRONOTYPE_LABEL: Record<Chronotype | 'unknown', string> = {
  early_bird: 'Early bird',
  intermediate: 'Intermediate',
  night_owl: 'Night owl',
  unknown: 'Chronotype not known yet',
};

export function avatarKind(chronotype: Chronotype | null | undefined): 'sun' | 'moon' | 'neutral' {
  if (chronotype === 'early_bird') return 'sun';
  if (chronotype === 'night_owl') return 'moon';
  return 'neutral';
}

function rays(): string {
  let out = '';
  for (let i = 0; i < 12; i++) {
    const a = (i * Math.PI) / 6;
    const x1 = 60 + Math.cos(a) * 43;
    const y1 = 60 + Math.sin(a) * 43;
    const x2 = 60 + Math.cos(a) * 55;
    const y2 = 60 + Math.sin(a) * 55;
    out += `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}"/>`;
  }
  return `<g stroke="#E8890C" stroke-width="5" stroke-linecap="round">${out}</g>`;
}

function body(kind: 'sun' | 'moon' | 'neutral'): string {
  switch (kind) {
    case 'sun':
      return `${rays()}<circle cx="60" cy="60" r="36" fill="#FFC83D" stroke="#E8890C" stroke-width="3"/>`;
    case 'moon':
      return `<circle cx="60" cy="60" r="57" fill="#2E2A6B"/>
        <path d="M96 22l1.6 4.4 4.4 1.6-4.4 1.6L96 34l-1.6-4.4-4.4-1.6 4.4-1.6z" fill="#FDE68A"/>
        <path d="M22 86l1.2 3.3 3.3 1.2-3.3 1.2L22 95l-1.2-3.3-3.3-1.2 3.3-1.2z" fill="#FDE68A"/>
        <circle cx="25" cy="32" r="2" fill="#FDE68A"/>
        <circle cx="60" cy="60" r="36" fill="#E4E7FB" stroke="#B7BEEA" stroke-width="3"/>
        <circle cx="78" cy="44" r="5" fill="#CDD3F4"/><circle cx="43" cy="80" r="3.5" fill="#CDD3F4"/>
        <circle cx="83" cy="76" r="3" fill="#CDD3F4"/>`;
    default:
      return `<path d="M60 26c0-10 6-16 16-18-1 10-7 16-16 18z" fill="#2F9E62"/>
        <path d="M60 26c0-8-5-13-13-14 1 8 5 12 13 14z" fill="#4CC38A"/>
        <circle cx="60" cy="62" r="36" fill="#BDEBD2" stroke="#2F9E62" stroke-width="3"/>`;
  }
}

function face(mood: Mood, kind: 'sun' | 'moon' | 'neutral'): string {
  const ink = kind === 'moon' ? '#2E2A6B' : '#3B2A12';
  const cy = kind === 'neutral' ? 62 : 60;
  const eyeY = cy - 6;
  const mouthY = cy + 12;
  const cheeks = `<circle cx="41" cy="${cy + 6}" r="5" fill="#F28B8B" opacity=".45"/><circle cx="79" cy="${cy + 6}" r="5" fill="#F28B8B" opacity=".45"/>`;
  const dotEyes = `<circle cx="48" cy="${eyeY}" r="3.6" fill="${ink}"/><circle cx="72" cy="${eyeY}" r="3.6" fill="${ink}"/>`;
  const stroke = `fill="none" stroke="${ink}" stroke-width="3.2" stroke-linecap="round"`;
  switch (mood) {
    case 'calm':
    case 'unknown':
      return `${cheeks}${dotEyes}<path d="M47 ${mouthY - 2} Q60 ${mouthY + 9} 73 ${mouthY - 2}" ${stroke}/>`;
    case 'tense':
      return `${dotEyes}<path d="M42 ${eyeY - 9} L54 ${eyeY - 8}M66 ${eyeY - 8} L78 ${eyeY - 9}" ${stroke}/>
        <path d="M49 ${mouthY + 2} Q54 ${mouthY - 1} 60 ${mouthY + 2} T71 ${mouthY + 2}" ${stroke}/>`;
    case 'stressed':
      return `${dotEyes}<path d="M42 ${eyeY - 7} L54 ${eyeY - 11}M66 ${eyeY - 11} L78 ${eyeY - 7}" ${stroke}/>
        <path d="M48 ${mouthY + 6} Q60 ${mouthY - 4} 72 ${mouthY + 6}" ${stroke}/>
        <path d="M86 ${cy - 16} q4 7 0 10 q-4 -3 0 -10z" fill="#5AA9E6"/>`;
    case 'asleep':
      return `<path d="M43 ${eyeY} Q48 ${eyeY + 5} 53 ${eyeY}M67 ${eyeY} Q72 ${eyeY + 5} 77 ${eyeY}" ${stroke}/>
        <ellipse cx="60" cy="${mouthY + 1}" rx="4" ry="3" fill="${ink}" opacity=".75"/>
        <text x="84" y="${cy - 22}" font-family="system-ui,sans-serif" font-weight="700" font-size="14" fill="${kind === 'moon' ? '#FDE68A' : '#4B5BA8'}">z</text>
        <text x="93" y="${cy - 32}" font-family="system-ui,sans-serif" font-weight="700" font-size="10" fill="${kind === 'moon' ? '#FDE68A' : '#4B5BA8'}">z</text>`;
  }
}

/** The avatar's SVG markup. `label` becomes its accessible name; without one the
 * avatar is decorative (hidden from screen readers, for use next to the same words). */
export function avatarSvg(
  chronotype: Chronotype | null | undefined,
  mood: Mood,
  label: string,
  size = 96,
): string {
  const kind = avatarKind(chronotype);
  const safe = label.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const a11y = safe
    ? `role="img" aria-label="${safe}"><title>${safe}</title>`
    : `aria-hidden="true" focusable="false">`;
  return `<svg class="avatar avatar-${kind} mood-${mood}" data-avatar="${kind}" data-mood="${mood}" viewBox="0 0 120 120" width="${size}" height="${size}" xmlns="http://www.w3.org/2000/svg" ${a11y}${body(kind)}${face(mood, kind)}</svg>`;
}
