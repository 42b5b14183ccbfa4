// Tables the way kubectl prints them: upper-case headers, columns padded by three spaces.

export interface TableOptions {
  /** Prefix for every line, e.g. two spaces inside a status section. */
  indent?: string;
  /** Spaces between columns; kubectl uses 3. */
  gap?: number;
}

/** Renders rows under headers, left-aligned, without trailing spaces. */
export function renderTable(headers: string[], rows: string[][], options: TableOptions = {}): string {
  const indent = options.indent ?? "";
  const gap = " ".repeat(options.gap ?? 3);
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => width(row[column] ?? ""))));
  return all
    .map((row) =>
      headers
        .map((_, column) => {
          const cell = row[column] ?? "";
          return column === headers.length - 1 ? cell : pad(cell, widths[column] ?? 0);
        })
        .join(gap)
        .trimEnd(),
    )
    .map((line) => `${indent}${line}`)
    .join("\n");
}

/** Display width, counting each code point once (sparkline blocks are one column wide). */
export function width(text: string): number {
  return [...text].length;
}

/** Pads text with spaces to a display width. */
export function pad(text: string, to: number): string {
  return text + " ".repeat(Math.max(0, to - width(text)));
}

/** Shortens text to a display width, ending in an ellipsis when cut. */
export function truncate(text: string, to: number): string {
  const chars = [...text];
  if (chars.length <= to) return text;
  return `${chars.slice(0, Math.max(0, to - 1)).join("")}…`;
}
