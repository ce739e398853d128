// Redis's partial quicksort (src/pqsort.c: Bentley & McIlroy's qsort, cut short to the part of
// the array a LIMIT asks for). SORT ... BY pattern LIMIT uses it instead of qsort, and the order it
// leaves elements that compare equal in (ALPHA with equal or missing weights) is its own, not a
// stable sort's: porting it step by step is how SORT's reply matches Redis's for those ties.
//
// pqsort.c works on byte pointers; here every pointer is an index into `a` (its element size is
// 1), which keeps each comparison of the C code the same.

type Cmp<T> = (x: T, y: T) => number;

/** Sort `a` so that its elements at indexes lrange..rrange are the ones (and in the order) a full
 *  sort would put there, as Redis's pqsort(a, n, es, cmp, lrange, rrange) does. */
export function pqsort<T>(a: T[], cmp: Cmp<T>, lrange: number, rrange: number): void {
  partial(a, 0, a.length, cmp, lrange, rrange);
}

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function vecswap<T>(a: T[], i: number, j: number, n: number): void {
  for (let k = 0; k < n; k++) swap(a, i + k, j + k);
}

function med3<T>(a: T[], i: number, j: number, k: number, cmp: Cmp<T>): number {
  return cmp(a[i], a[j]) < 0
    ? cmp(a[j], a[k]) < 0 ? j : cmp(a[i], a[k]) < 0 ? k : i
    : cmp(a[j], a[k]) > 0 ? j : cmp(a[i], a[k]) < 0 ? i : k;
}

/** _pqsort on the n elements from `base`; lrange/rrange are absolute indexes (pqsort.c's
 *  `a + lrange*es` and `a + (rrange+1)*es - 1`, which with es = 1 are lrange and rrange). */
function partial<T>(a: T[], base: number, n: number, cmp: Cmp<T>, lrange: number, rrange: number): void {
  for (;;) {
    if (n < 7) {
      for (let pm = base + 1; pm < base + n; pm++) {
        for (let pl = pm; pl > base && cmp(a[pl - 1], a[pl]) > 0; pl--) swap(a, pl, pl - 1);
      }
      return;
    }
    let pm = base + (n >>> 1);
    if (n > 7) {
      let pl = base;
      let pn = base + n - 1;
      if (n > 40) {
        const d = n >>> 3;
        pl = med3(a, pl, pl + d, pl + 2 * d, cmp);
        pm = med3(a, pm - d, pm, pm + d, cmp);
        pn = med3(a, pn - 2 * d, pn - d, pn, cmp);
      }
      pm = med3(a, pl, pm, pn, cmp);
    }
    swap(a, base, pm);
    let pa = base + 1;
    let pb = pa;
    let pc = base + n - 1;
    let pd = pc;
    for (;;) {
      let r: number;
      while (pb <= pc && (r = cmp(a[pb], a[base])) <= 0) {
        if (r === 0) swap(a, pa++, pb);
        pb++;
      }
      while (pb <= pc && (r = cmp(a[pc], a[base])) >= 0) {
        if (r === 0) swap(a, pc, pd--);
        pc--;
      }
      if (pb > pc) break;
      swap(a, pb++, pc--);
    }

    const pn = base + n;
    let r = Math.min(pa - base, pb - pa);
    vecswap(a, base, pb - r, r);
    r = Math.min(pd - pc, pn - pd - 1);
    vecswap(a, pb, pn - r, r);
    // Recurse into a part only if the wanted range [lrange, rrange] reaches into it.
    if ((r = pb - pa) > 1 && overlaps(base, base + r - 1, lrange, rrange)) partial(a, base, r, cmp, lrange, rrange);
    if ((r = pd - pc) > 1) {
      base = pn - r;
      n = r;
      if (overlaps(base, base + r - 1, lrange, rrange)) continue;
    }
    return;
  }
}

function overlaps(l: number, r: number, lrange: number, rrange: number): boolean {
  return !((lrange < l && rrange < l) || (lrange > r && rrange > r));
}
