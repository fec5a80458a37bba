package fake

import "context"

// next blocks until q has an item or ctx is done. A wait whose context is
// done takes nothing, even when an item is there (as the real drivers do):
// a reader that has given up must not swallow what belongs to the next.
func next[T any](ctx context.Context, q *queue[T]) (T, error) {
	for {
		if err := ctx.Err(); err != nil {
			var zero T
			return zero, err
		}
		v, ok, ready := q.pop()
		if ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-ready:
		}
	}
}
