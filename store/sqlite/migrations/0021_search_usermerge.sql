-- The store merges search_words in the background (see searchmerge.go):
-- a merge of every segment into one, begun by a 'merge' command with a
-- negative page count and carried on by commands with a positive one. A
-- positive 'merge' also takes up any level holding 'usermerge' segments;
-- at FTS5's default, four, it would merge each four of the posts' newest
-- segments that automerge (eight, see 0019) leaves to gather to eight:
-- extra writes for every post, and a merger that never found itself done
-- while posts came. At eight it only carries on merges automerge would
-- make itself.
INSERT INTO search_words (search_words, rank) VALUES ('usermerge', 8);
