// Ring: a growable circular array, O(1) push and pop at both ends and O(1) access by
// index; inserting or removing in the middle moves the shorter side. QuickList keeps its
// chunks in one.

export class Ring<T> {
  private buf: (T | undefined)[] = new Array(8);
  private head = 0;
  length = 0;

  at(i: number): T { return this.buf[(this.head + i) & (this.buf.length - 1)] as T; }
  setAt(i: number, v: T): void { this.buf[(this.head + i) & (this.buf.length - 1)] = v; }
  first(): T | undefined { return this.length ? this.at(0) : undefined; }
  last(): T | undefined { return this.length ? this.at(this.length - 1) : undefined; }

  pushBack(v: T): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) & (this.buf.length - 1)] = v;
    this.length++;
  }

  pushFront(v: T): void {
    if (this.length === this.buf.length) this.grow();
    this.head = (this.head - 1) & (this.buf.length - 1);
    this.buf[this.head] = v;
    this.length++;
  }

  popBack(): T | undefined {
    if (this.length === 0) return undefined;
    const i = (this.head + this.length - 1) & (this.buf.length - 1);
    const v = this.buf[i];
    this.buf[i] = undefined;
    this.length--;
    return v;
  }

  popFront(): T | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.length--;
    return v;
  }

  /** Inserts v so that it ends up at index i (0 <= i <= length). */
  insertAt(i: number, v: T): void {
    if (i <= this.length >> 1) {
      this.pushFront(v);
      for (let j = 0; j < i; j++) this.setAt(j, this.at(j + 1));
    } else {
      this.pushBack(v);
      for (let j = this.length - 1; j > i; j--) this.setAt(j, this.at(j - 1));
    }
    this.setAt(i, v);
  }

  removeAt(i: number): void {
    if (i < this.length >> 1) {
      for (let j = i; j > 0; j--) this.setAt(j, this.at(j - 1));
      this.popFront();
    } else {
      for (let j = i; j < this.length - 1; j++) this.setAt(j, this.at(j + 1));
      this.popBack();
    }
  }

  private grow(): void {
    const old = this.buf;
    const n = old.length;
    const buf = new Array<T | undefined>(n * 2);
    for (let i = 0; i < this.length; i++) buf[i] = old[(this.head + i) & (n - 1)];
    this.buf = buf;
    this.head = 0;
  }
}
