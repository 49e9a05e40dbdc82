// A TypeDoc plugin for `cargo xtask docs`: the doc comments on the members
// of a union type alias (`ErrorCode`: one comment per code) become a list
// in the alias's own comment. TypeDoc keeps them beside the union, and
// typedoc-plugin-markdown shows them only for unions that hold an object
// type; so a union of string literals would lose them.

import { Converter, ReflectionKind } from 'typedoc';

/** Registers the plugin with TypeDoc. */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const alias of context.project.getReflectionsByKind(ReflectionKind.TypeAlias)) {
      const union = alias.type;
      if (union?.type !== 'union' || !union.elementSummaries || !alias.comment) continue;
      if (union.types.some((member) => member.type === 'reflection')) continue;
      const list = [];
      union.types.forEach((member, i) => {
        const summary = union.elementSummaries[i] ?? [];
        if (summary.length === 0) return;
        list.push({ kind: 'text', text: '\n- ' });
        list.push({ kind: 'code', text: `\`${member.toString()}\`` });
        list.push({ kind: 'text', text: ': ' });
        // One list item each: the member's lines joined.
        for (const part of summary) {
          list.push(part.kind === 'text' ? { ...part, text: part.text.replace(/\s*\n\s*/g, ' ') } : part);
        }
      });
      alias.comment.summary.push({ kind: 'text', text: '\n' }, ...list);
      delete union.elementSummaries;
    }
  });
}
