package tlv

// Primitives flattens objects to their primitive data elements, in order.
func Primitives(objs []TLV) []TLV {
	var out []TLV
	for _, o := range objs {
		if o.Tag.Constructed() {
			out = append(out, Primitives(o.Children)...)
			continue
		}
		out = append(out, o)
	}
	return out
}
