package password_test

import (
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

func ExampleHash() {
	phc, err := password.Hash("correct horse battery staple", password.DefaultParams)
	if err != nil {
		panic(err)
	}
	// The salt is random: only the parameters are the same every time.
	fmt.Println(strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$"))
	// Output: true
}

func ExampleVerify() {
	// A hash written by the reference implementation's argon2 command.
	const phc = "$argon2id$v=19$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$bsXFENIwjcWvJE0fNSKGJUdiUsIMdeBM0ApgamQdnew"
	ok, err := password.Verify(phc, "correct horse battery staple")
	fmt.Println(ok, err)
	ok, err = password.Verify(phc, "Tr0ub4dor&3")
	fmt.Println(ok, err)
	// Output:
	// true <nil>
	// false <nil>
}

func ExampleCheck() {
	p, err := password.Check("$argon2id$v=19$m=7168,t=6,p=2$c2FsdHNhbHQ$hs2g8+UoUelJ+9WC1zUEiA")
	fmt.Printf("%+v %v\n", p, err)
	_, err = password.Check("$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$hs2g8+UoUelJ+9WC1zUEiA")
	fmt.Println(err)
	// Output:
	// {Memory:7168 Time:6 Threads:2 SaltLen:8 KeyLen:16} <nil>
	// password: argon2id parameters below the floor: m=4096,t=3,p=1, salt 8 bytes, hash 16 bytes
}
