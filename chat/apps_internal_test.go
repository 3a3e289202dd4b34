package chat

import (
	"context"

	"github.com/confab/confab"
)

// FindBots: the pages of pageStore are people's messages.
func (*pageStore) FindBots(context.Context, confab.BotFilter) ([]*confab.Bot, error) { return nil, nil }
