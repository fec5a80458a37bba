package cupmsg

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Marshalling plans. moov-io's Message.Marshal and Message.Unmarshal read a
// struct's iso8583 tags again on every call (field.NewIndexTag per field),
// which on the authorization path costs more than packing the message. A
// plan reads them once per type, with the library's own tag reader, and
// then moves each field with the library's accessors exactly as Marshal
// and Unmarshal do: a zero field is absent unless tagged keepzero, and a
// field the message does not hold is left zero. Types with fields other
// than string and *field.Binary go through the library's own functions.

// planField is one tagged field of a typed message.
type planField struct {
	index    int // in the struct
	id       int // field number
	keepZero bool
	binary   bool // *field.Binary, else string
}

var (
	plans      sync.Map // reflect.Type → []planField, nil when the type has no plan
	stringType = reflect.TypeFor[string]()
	binaryType = reflect.TypeFor[*field.Binary]()
)

// planOf returns t's plan, false when t is not a struct of string and
// *field.Binary fields.
func planOf(t reflect.Type) ([]planField, bool) {
	if p, ok := plans.Load(t); ok {
		pf := p.([]planField)
		return pf, pf != nil
	}
	var out []planField
	ok := t.Kind() == reflect.Struct
	for i := 0; ok && i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := field.NewIndexTag(sf)
		if tag.ID < 0 {
			continue
		}
		switch sf.Type {
		case stringType:
			out = append(out, planField{index: i, id: tag.ID, keepZero: tag.KeepZero})
		case binaryType:
			out = append(out, planField{index: i, id: tag.ID, keepZero: tag.KeepZero, binary: true})
		default:
			ok = false
		}
	}
	if !ok {
		out = nil
	}
	plans.Store(t, out)
	return out, ok
}

// marshal fills m from v (a pointer to a struct) by v's plan; done is
// false when v has none and the library must do it.
func marshal(m *iso8583.Message, v any) (done bool, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, nil
	}
	rv = rv.Elem()
	plan, ok := planOf(rv.Type())
	if !ok {
		return false, nil
	}
	for _, f := range plan {
		fv := rv.Field(f.index)
		if f.binary {
			b, _ := fv.Interface().(*field.Binary)
			if b == nil && !f.keepZero {
				continue
			}
			err = m.BinaryField(f.id, b.Value())
		} else {
			s := fv.String()
			if s == "" && !f.keepZero {
				continue
			}
			err = setString(m, f.id, s)
		}
		if err != nil {
			return true, fmt.Errorf("failed to set value to field %d: %w", f.id, err)
		}
	}
	return true, nil
}

// setString sets string field id of m to s. Message.Field marks the field
// present; the value then goes in without the two copies Field makes.
func setString(m *iso8583.Message, id int, s string) error {
	if err := m.Field(id, ""); err != nil {
		return err
	}
	if sf, ok := m.GetField(id).(*field.String); ok {
		sf.SetValue(s)
		return nil
	}
	return m.Field(id, s)
}

// unmarshal reads m into v (a pointer to a struct) by v's plan; done is
// false when v has none and the library must do it.
func unmarshal(m *iso8583.Message, v any) (done bool, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, nil
	}
	rv = rv.Elem()
	plan, ok := planOf(rv.Type())
	if !ok {
		return false, nil
	}
	set := m.GetFields()
	for _, f := range plan {
		mf, ok := set[f.id]
		if !ok {
			continue
		}
		if f.binary {
			b, err := mf.Bytes()
			if err != nil {
				return true, fmt.Errorf("failed to get value from field %d: %w", f.id, err)
			}
			rv.Field(f.index).Set(reflect.ValueOf(field.NewBinaryValue(b)))
			continue
		}
		s, err := mf.String()
		if err != nil {
			return true, fmt.Errorf("failed to get value from field %d: %w", f.id, err)
		}
		rv.Field(f.index).SetString(s)
	}
	return true, nil
}
