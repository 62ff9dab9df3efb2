/**
 * Where and why a text is not valid JSON, in words that never quote it: JSON.parse's own messages
 * quote the start of the input, which may be a secret or, through a symlink, another file. One pass,
 * no recursion (an explicit stack), so deep nesting costs nothing but memory.
 */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const stack: number[] = []; // 0x5b '[' or 0x7b '{'
  let i = 0;
  const fail = (reason: string): JsonSyntaxError => {
    let line = 1;
    let lineStart = 0;
    for (let j = text.indexOf('\n'); j !== -1 && j < i; j = text.indexOf('\n', j + 1)) {
      line++;
      lineStart = j + 1;
    }
    return { line, column: i - lineStart + 1, reason };
  };
  const skipWs = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const string = (): string | undefined => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'a control character inside a string (escape it)';
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return 'a \\u escape without four hex digits';
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return 'an invalid escape sequence in a string';
      } else i++;
    }
    return 'an unterminated string';
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // Expecting: 'value', 'key' (after '{' or ','), ':' , 'next' (',' or the closing bracket).
  let expect: 'value' | 'key' | 'key-or-end' | 'value-or-end' | 'colon' | 'next' = 'value';
  for (;;) {
    skipWs();
    if (i >= text.length) {
      if (expect === 'next' && stack.length === 0) return undefined;
      return fail('unexpected end of input');
    }
    const c = text.charCodeAt(i);
    if (expect === 'next') {
      if (stack.length === 0) return fail('unexpected content after the JSON value');
      const top = stack[stack.length - 1];
      if (c === 0x2c) {
        i++;
        expect = top === 0x7b ? 'key' : 'value';
      } else if ((c === 0x5d && top === 0x5b) || (c === 0x7d && top === 0x7b)) {
        i++;
        stack.pop();
        expect = 'next';
      } else return fail(top === 0x7b ? "expected ',' or '}'" : "expected ',' or ']'");
      continue;
    }
    if (expect === 'colon') {
      if (c !== 0x3a) return fail("expected ':' after a property name");
      i++;
      expect = 'value';
      continue;
    }
    if (expect === 'key' || expect === 'key-or-end') {
      if (c === 0x7d && expect === 'key-or-end') {
        i++;
        stack.pop();
        expect = 'next';
        continue;
      }
      if (c !== 0x22) return fail(expect === 'key' ? 'expected a double-quoted property name (no trailing comma)' : "expected a double-quoted property name or '}'");
      const problem = string();
      if (problem) return fail(problem);
      expect = 'colon';
      continue;
    }
    // A value.
    if (c === 0x5d && expect === 'value-or-end') {
      i++;
      stack.pop();
      expect = 'next';
    } else if (c === 0x5b || c === 0x7b) {
      stack.push(c);
      i++;
      expect = c === 0x5b ? 'value-or-end' : 'key-or-end';
    } else if (c === 0x22) {
      const problem = string();
      if (problem) return fail(problem);
      expect = 'next';
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
      expect = 'next';
    } else if (text.startsWith('false', i)) {
      i += 5;
      expect = 'next';
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return fail(expect === 'value-or-end' ? "expected a value or ']'" : 'expected a value (a string, number, object, array, true, false or null)');
      i = NUMBER.lastIndex;
      expect = 'next';
    }
  }
}

/** Parses JSON; throws `<where>: not valid JSON at line L, column C: <reason>.` without quoting the text. */
export function parseJsonQuietly(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const error = jsonSyntaxError(text);
    throw new Error(error ? `${where}: not valid JSON at line ${error.line}, column ${error.column}: ${error.reason}.` : `${where}: not valid JSON.`);
  }
}
