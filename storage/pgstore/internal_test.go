package pgstore

import (
	"math"
	"testing"
	"time"
)

func TestTimeEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Time
		ns   int64
		out  time.Time
	}{
		{"zero", time.Time{}, math.MinInt64, time.Time{}},
		{"epoch", time.Unix(0, 0), 0, time.Unix(0, 0)},
		{"nanoseconds", time.Date(2100, 3, 4, 5, 6, 7, 123456789, time.UTC), 4107819967123456789,
			time.Date(2100, 3, 4, 5, 6, 7, 123456789, time.UTC)},
		{"other location", time.Date(2030, 1, 1, 1, 0, 0, 1, time.FixedZone("X", 3600)), 1893456000000000001,
			time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"before 1678", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64 + 1, time.Unix(0, math.MinInt64+1)},
		{"after 2262", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64, time.Unix(0, math.MaxInt64)},
		{"largest", time.Unix(0, math.MaxInt64), math.MaxInt64, time.Unix(0, math.MaxInt64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := encodeTime(tc.in)
			if ns != tc.ns {
				t.Errorf("encodeTime(%v) = %d, want %d", tc.in, ns, tc.ns)
			}
			if got := decodeTime(ns); !got.Equal(tc.out) || got.IsZero() != tc.out.IsZero() {
				t.Errorf("decodeTime(%d) = %v, want %v", ns, got, tc.out)
			}
		})
	}
	// Order is kept: the zero time is before every other.
	if !(encodeTime(time.Time{}) < encodeTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC))) {
		t.Error("the zero time does not sort first")
	}
}

func TestChannel(t *testing.T) {
	o := defaultOptions()
	if got := o.channel(); got != "public.gatehouse_revocations" {
		t.Errorf("default channel %q", got)
	}
	o.schema = "a_schema_with_a_rather_long_name_for_a_test"
	long := o.channel()
	if len(long) > maxIdentifier {
		t.Errorf("channel %q is longer than %d bytes", long, maxIdentifier)
	}
	o.prefix = "other_"
	if o.channel() == long {
		t.Error("two prefixes hash to one channel")
	}
}
