interface HastNode {
  type: string;
  tagName?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

/**
 * After sanitizing: display math scrolls sideways in its own box when it is wider than the answer
 * (a phone), so it takes keyboard focus, letting the arrow keys scroll it
 * (https://dequeuniversity.com/rules/axe/4.10/scrollable-region-focusable).
 */
export function rehypeFocusableDisplayMath() {
  const visit = (node: HastNode) => {
    if (node.type === 'element' && node.tagName === 'math' && node.properties?.display === 'block') node.properties.tabIndex = 0;
    node.children?.forEach(visit);
  };
  return (tree: HastNode) => visit(tree);
}
