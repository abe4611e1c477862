/** Whether dist/ (the compiled CLI) is at least as new as every file in src/ of the package at root. */
export function distIsCurrent(root: string): boolean;
