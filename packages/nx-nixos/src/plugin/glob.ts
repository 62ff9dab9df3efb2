/**
 * Globs over workspace-relative paths, as nx.json and target options write them: `**` (any number of
 * folders; `**` followed by `/` also none), `*` and `?` (within one path segment), `{a,b}` (alternatives,
 * may nest). Globs come from the repository, so they are never turned into a backtracking regular
 * expression (`**` `/` `**` `/` ... `x` would take exponential time on a long path): every position of
 * the glob is followed at once, so a match costs at most the path's length times the glob's.
 */

const CHAR = 0;
const SEGMENT_CHAR = 1; // any character but '/'
const ANY_CHAR = 2;
const SPLIT = 3; // continue at both targets
const JUMP = 4;
const MATCH = 5;

export interface CompiledGlob {
  readonly glob: string;
  test(path: string): boolean;
}

/** `braces: false` reads `{`, `,` and `}` as themselves. */
export function compileGlob(glob: string, { braces = true }: { braces?: boolean } = {}): CompiledGlob {
  const op: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  const emit = (code: number, a = 0, b = 0) => {
    op.push(code);
    x.push(a);
    y.push(b);
    return op.length - 1;
  };
  /** `body` repeated any number of times: split, the body, a jump back. */
  const loop = (body: number) => {
    const split = emit(SPLIT);
    x[split] = emit(body);
    emit(JUMP, split);
    y[split] = op.length;
  };
  // Open groups: the split that starts the current alternative, and the jumps that end the others.
  const groups: Array<{ split: number; ends: number[] }> = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        // (?:.*/)?
        const skip = emit(SPLIT);
        x[skip] = op.length;
        loop(ANY_CHAR);
        emit(CHAR, '/'.charCodeAt(0));
        y[skip] = op.length;
      } else loop(ANY_CHAR);
    } else if (c === '*') loop(SEGMENT_CHAR);
    else if (c === '?') emit(SEGMENT_CHAR);
    else if (c === '{' && braces) {
      const split = emit(SPLIT);
      x[split] = op.length;
      groups.push({ split, ends: [] });
    } else if (c === ',' && groups.length > 0) {
      const group = groups[groups.length - 1];
      group.ends.push(emit(JUMP));
      y[group.split] = op.length;
      group.split = emit(SPLIT);
      x[group.split] = op.length;
    } else if (c === '}' && groups.length > 0) {
      const group = groups.pop()!;
      y[group.split] = x[group.split];
      for (const end of group.ends) x[end] = op.length;
    } else emit(CHAR, c.charCodeAt(0));
  }
  // An unclosed `{` reaches to the end of the glob.
  for (const group of groups.reverse()) {
    y[group.split] = x[group.split];
    for (const end of group.ends) x[end] = op.length;
  }
  emit(MATCH);

  const size = op.length;
  let current = new Int32Array(size);
  let next = new Int32Array(size);
  const seen = new Uint32Array(size);
  const pending = new Int32Array(size * 2 + 2);
  let generation = 0;
  const nextGeneration = () => {
    generation = (generation + 1) >>> 0;
    if (generation === 0) {
      seen.fill(0);
      generation = 1;
    }
  };
  /** Adds `start` and every state it reaches without reading a character; returns the new count. */
  const add = (list: Int32Array, count: number, start: number): number => {
    let top = 0;
    pending[top++] = start;
    while (top > 0) {
      const pc = pending[--top];
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      if (op[pc] === SPLIT) {
        pending[top++] = y[pc];
        pending[top++] = x[pc];
      } else if (op[pc] === JUMP) pending[top++] = x[pc];
      else list[count++] = pc;
    }
    return count;
  };
  return {
    glob,
    test(path: string): boolean {
      nextGeneration();
      let count = add(current, 0, 0);
      for (let i = 0; i < path.length && count > 0; i++) {
        const c = path.charCodeAt(i);
        nextGeneration();
        let nextCount = 0;
        for (let k = 0; k < count; k++) {
          const pc = current[k];
          const code = op[pc];
          if (code === ANY_CHAR || (code === SEGMENT_CHAR && c !== 47) || (code === CHAR && x[pc] === c)) nextCount = add(next, nextCount, pc + 1);
        }
        [current, next] = [next, current];
        count = nextCount;
      }
      for (let k = 0; k < count; k++) if (op[current[k]] === MATCH) return true;
      return false;
    },
  };
}

const compiled = new Map<string, CompiledGlob>();

/** compileGlob, once per glob. */
export function glob(pattern: string): CompiledGlob {
  let g = compiled.get(pattern);
  if (!g) compiled.set(pattern, (g = compileGlob(pattern)));
  return g;
}
