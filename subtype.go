package confab

// SubtypeMeMessage is the subtype of a message posted with chat.meMessage
// (a "/me" action), stored with it (Message.Subtype) and shown in every
// answer, page and event that carries it.
const SubtypeMeMessage = "me_message"
