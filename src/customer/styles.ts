/**
 * The element's shadow-DOM style sheet. Vendors restyle it through the CSS custom properties
 * below (they inherit through the shadow boundary) and the `::part()` names (CSS Shadow Parts
 * §3): container, title, message, steps, button, retry, choose-again, give-up, progress,
 * progress-bar, time-left, demo-note. Colours meet WCAG 2.2 contrast (4.5:1 for text) in both schemes.
 */
/** The dark scheme's defaults, for the system's dark mode and for `theme="dark"`. */
const DARK = `--_accent: var(--webflash-accent, #a8c7fa);
  --_accent-text: var(--webflash-accent-text, #062e6f);
  --_bg: var(--webflash-background, #1e1f22);
  --_text: var(--webflash-text, #e3e3e6);
  --_muted: var(--webflash-muted, #c2c4cb);
  --_border: var(--webflash-border, #5c5f66);
  --_error: var(--webflash-error, #ffb4ab);
  --_success: var(--webflash-success, #8fd9a0);
  --_track: var(--webflash-track, #3a3c41);`;

export const ELEMENT_CSS = `
:host {
  --_accent: var(--webflash-accent, #0b57d0);
  --_accent-text: var(--webflash-accent-text, #ffffff);
  --_bg: var(--webflash-background, #ffffff);
  --_text: var(--webflash-text, #1b1c1f);
  --_muted: var(--webflash-muted, #4a4d55);
  --_border: var(--webflash-border, #c4c7cf);
  --_error: var(--webflash-error, #b3261e);
  --_success: var(--webflash-success, #146c2e);
  --_track: var(--webflash-track, #e3e5ea);
  display: block;
  max-width: var(--webflash-max-width, 32rem);
  font: var(--webflash-font, 1rem/1.5 system-ui, sans-serif);
  color: var(--_text);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme='light'])) {
    ${DARK}
  }
}
:host([theme='dark']) {
  ${DARK}
  color-scheme: dark;
}
:host([theme='light']) { color-scheme: light; }
[hidden] { display: none !important; }
.box {
  background: var(--_bg);
  border: 1px solid var(--_border);
  border-radius: var(--webflash-radius, 12px);
  padding: 1.25rem 1.5rem;
}
.title {
  display: block;
  font-size: 1.25em;
  font-weight: 600;
  margin: 0 0 0.5rem;
}
.title:focus { outline: none; }
.title:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
[data-tone='error'] .title { color: var(--_error); }
[data-tone='success'] .title { color: var(--_success); }
.message, .time-left { margin: 0 0 0.75rem; }
.time-left { color: var(--_muted); font-size: 0.95em; }
.demo-note { margin: 1rem 0 0; color: var(--_muted); font-size: 0.875em; }
.steps { margin: 0 0 1rem; padding-left: 1.25rem; }
.steps li { margin: 0.25rem 0; }
.progress {
  height: 0.75rem;
  border-radius: 999px;
  background: var(--_track);
  overflow: hidden;
  margin: 0.25rem 0 0.5rem;
}
.bar {
  height: 100%;
  width: 0;
  background: var(--_accent);
  transition: width 0.3s ease;
}
.progress[data-indeterminate] .bar { width: 30%; animation: slide 1.4s ease-in-out infinite; }
@keyframes slide { from { margin-left: -30%; } to { margin-left: 100%; } }
@media (prefers-reduced-motion: reduce) {
  .bar { transition: none; }
  .progress[data-indeterminate] .bar { animation: none; width: 100%; opacity: 0.5; }
}
button {
  font: inherit;
  font-weight: 600;
  min-height: 2.75rem;
  padding: 0.5rem 1.5rem;
  border: 0;
  border-radius: var(--webflash-button-radius, 999px);
  background: var(--_accent);
  color: var(--_accent-text);
  cursor: pointer;
}
button:hover { filter: brightness(1.08); }
.give-up { background: none; color: var(--_accent); }
button:focus-visible { outline: 3px solid var(--_text); outline-offset: 2px; }
.sr-only {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
}
`;
