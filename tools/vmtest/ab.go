package main

import "context"

func abTest(ctx context.Context, root, dir, image string, res *result, logf func(string, ...any)) error {
	return nil
}

func cameraTest(ctx context.Context, root, dir, image string, res *result, logf func(string, ...any)) error {
	return nil
}
