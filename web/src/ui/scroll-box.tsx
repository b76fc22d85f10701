import { clsx } from 'clsx';
import type { ReactNode } from 'react';

/**
 * A box that scrolls sideways what is wider than the screen (a table on a phone) instead of the page.
 * It is a named region that takes keyboard focus, so that the arrow keys can scroll it too
 * (https://dequeuniversity.com/rules/axe/4.10/scrollable-region-focusable).
 */
export function ScrollBox({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable from the keyboard.
    <section aria-label={label} tabIndex={0} className={clsx('overflow-x-auto', className)}>
      {children}
    </section>
  );
}
