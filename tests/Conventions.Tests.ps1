# PowerShell conventions an operator relies on (issue 21): per-input errors that do not stop the pipeline, image
# parameters that take several images, verdicts that name their image, readable JSON, default destinations that work,
# a verbose build, symlinks and raw names in paths, export that keeps paths, tab completion.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    $script:Deep = Join-Path $Vectors 'deep.static.daxfs'
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-conventions-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
    $script:Bad = Join-Path $Work 'bad.daxfs'
    [IO.File]::WriteAllBytes($script:Bad, [byte[]]::new(8192))
}

AfterAll {
    Set-Location $HOME
    # rm, not Remove-Item: .NET cannot name the file whose name is not UTF-8.
    if ($script:Work -and (Test-Path $script:Work)) { rm -rf -- $script:Work }
}

Describe 'One bad image among many is a non-terminating error' {
    It '<Command> goes on with the next image and honours -ErrorAction SilentlyContinue and -ErrorVariable' -TestCases @(
        @{ Command = 'Get-DaxFsItem'; Good = $null }
        @{ Command = 'Get-DaxFsImage'; Good = $null }
        @{ Command = 'Get-DaxFsBranch'; Good = 'basic.branching.daxfs' }
        @{ Command = 'Test-DaxFsImage'; Good = $null }
    ) {
        $good = if ($Good) { Join-Path $Vectors $Good } else { $Basic }
        $missing = Join-Path $Work 'missing.daxfs'
        $out = @(Get-Item $Bad, $good | & $Command -ErrorAction SilentlyContinue -ErrorVariable errs)
        $out2 = @($missing, $good | & $Command -ErrorAction SilentlyContinue -ErrorVariable errs2)
        if ($Command -eq 'Test-DaxFsImage') {
            # A file that is no image is a verdict (False), not an error; a missing one is an error.
            $out.Count | Should -Be 2
            $errs2.Count | Should -Be 1
            $out2.Count | Should -Be 1
            return
        }
        if ($Command -ne 'Get-DaxFsBranch') { $out.Count | Should -BeGreaterThan 0 }
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDaxFsImage.SB-MAGIC,*'
        $errs2.Count | Should -Be 1
        $errs2[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        @($out2).Count | Should -Be $out.Count
    }
    It 'Get-DaxFsContent and Export-DaxFsItem go on with the next image' {
        $text = @(Get-DaxFsContent $Bad, $Basic -Path /a/b/c/hello.txt -ErrorAction SilentlyContinue -ErrorVariable errs)
        $text | Should -Be 'hello, daxfs'
        $errs.Count | Should -Be 1
        $dest = Join-Path $Work 'export-two'
        Export-DaxFsItem $Bad, $Basic -Path /a -Destination $dest -ErrorAction SilentlyContinue -ErrorVariable errs3
        $errs3.Count | Should -Be 1
        Test-Path (Join-Path $dest 'a/five000') | Should -BeTrue
    }
}

Describe 'A format-8 image whose overlay cannot be read, among others' {
    BeforeAll {
        # The overlay-only image the kernel wrote, and a copy whose overlay header has lost its magic: the superblock still
        # reads, so the image opens, and the overlay fails only when a cmdlet resolves it.
        $script:Only = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs'
        $script:BadOverlay = Join-Path $Work 'bad-overlay.daxfs'
        $bytes = [IO.File]::ReadAllBytes($Only)
        $overlay = [BitConverter]::ToUInt64($bytes, 64) # overlay_offset
        [Array]::Clear($bytes, [int]$overlay, 4)
        [IO.File]::WriteAllBytes($BadOverlay, $bytes)
    }
    It '<Command> reports it as a non-terminating error and goes on with the next image' -TestCases @(
        @{ Command = 'Get-DaxFsItem'; Extra = @{} }
        @{ Command = 'Get-DaxFsContent'; Extra = @{ Path = '/a.txt' } }
        @{ Command = 'Export-DaxFsItem'; Extra = @{ Path = '/docs'; Destination = 'DEST' } }
        @{ Command = 'Get-DaxFsOverlay'; Extra = @{ WarningAction = 'SilentlyContinue' } }
        @{ Command = 'Compare-DaxFsOverlay'; Extra = @{} }
    ) {
        if ($Extra.ContainsKey('Destination')) { $Extra.Destination = Join-Path $Work "overlay-export-$(New-Guid)" }
        # Get-DaxFsContent and Export-DaxFsItem take items from the pipeline, images as an argument.
        $out = @(if ($Command -in 'Get-DaxFsContent', 'Export-DaxFsItem') { & $Command $BadOverlay, $Only @Extra -ErrorAction SilentlyContinue -ErrorVariable errs }
                 else { Get-Item $BadOverlay, $Only | & $Command @Extra -ErrorAction SilentlyContinue -ErrorVariable errs })
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDaxFsImage.OVL-MAGIC,*'
        $errs[0].TargetObject | Should -Be $BadOverlay
        if ($Command -eq 'Export-DaxFsItem') { Test-Path (Join-Path $Extra.Destination 'docs/readme.txt') | Should -BeTrue }
        else { $out.Count | Should -BeGreaterThan 0 -Because "the good image after the bad one is read by $Command" }
    }
}

Describe 'A split image without its backing file, among others' {
    It 'Export-DaxFsItem says to pass the backing file and exports the next image' {
        $split = Join-Path $Vectors 'v8/basic.v8.split.daxfs'
        $dest = Join-Path $Work "split-export-$(New-Guid)"
        Export-DaxFsItem $split, $Basic -Path /a -Destination $dest -ErrorAction SilentlyContinue -ErrorVariable errs
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'BackingFileRequired,DaxFs.Commands.ExportDaxFsItemCommand'
        $errs[0].TargetObject | Should -Be $split
        $errs[0].Exception.Message | Should -Match '-BackingFile'
        Get-Content (Join-Path $dest 'a/b/c/hello.txt') | Should -Be 'hello, daxfs'
        Export-DaxFsItem $split -Path /a -Destination (Join-Path $Work "split-whatif-$(New-Guid)") -WhatIf -ErrorAction SilentlyContinue -ErrorVariable errs2
        $errs2[0].FullyQualifiedErrorId | Should -Be 'BackingFileRequired,DaxFs.Commands.ExportDaxFsItemCommand' -Because '-WhatIf runs the same check'
        $withBacking = Join-Path $Work "split-backing-$(New-Guid)"
        Export-DaxFsItem (Get-DaxFsImage $split -BackingFile (Join-Path $Vectors 'v8/basic.v8.split.backing')) -Path /a -Destination $withBacking
        Get-Content (Join-Path $withBacking 'a/b/c/hello.txt') | Should -Be 'hello, daxfs'
    }
}

Describe 'Image parameters take several images' {
    It 'Get-DaxFsItem lists each image of an array' {
        $items = Get-DaxFsItem $Basic, $Deep
        ($items.ImagePath | Sort-Object -Unique) | Should -Be (@($Basic, $Deep) | Sort-Object)
    }
    It 'Get-DaxFsItem expands wildcards in the image path' {
        (Get-DaxFsItem (Join-Path $Vectors 'basic.*.daxfs') | Select-Object -ExpandProperty ImagePath -Unique).Count | Should -Be 2
    }
    It 'every cmdlet that reads images takes an array (only Write-DaxFsImage writes one image to one target)' {
        $readers = Get-Command -Module DaxFs | Where-Object { $_.Parameters -and $_.Parameters['Image'] -and $_.Name -ne 'Write-DaxFsImage' }
        $readers.Count | Should -BeGreaterOrEqual 10
        foreach ($c in $readers) { $c.Parameters['Image'].ParameterType | Should -Be ([DaxFs.DaxFsImageSource[]]) -Because "$($c.Name) -Image takes several images" }
        (Get-Command Compare-DaxFsImage).Parameters['DifferenceImage'].ParameterType | Should -Be ([DaxFs.DaxFsImageSource[]])
    }
    It 'Compare-DaxFsOverlay compares each image of an array with its own base' {
        $only = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs'
        $split = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-after-writes.daxfs'
        $c = @(Compare-DaxFsOverlay $only, $split)
        ($c.ImagePath | Sort-Object -Unique) | Should -Be (@($only, $split) | Sort-Object)
    }
}

Describe 'Test-DaxFsImage names the image of each verdict' {
    It 'outputs a [bool] per image that carries the image path, shown as a table' {
        $v = @(Get-Item $Bad, $Basic | Test-DaxFsImage)
        $v.Count | Should -Be 2
        $v[0] | Should -BeOfType bool
        $v[0] | Should -BeFalse
        $v[0].ImagePath | Should -Be $Bad
        $v[0].Errors | Should -BeGreaterThan 0
        $v[1].ImagePath | Should -Be $Basic
        $text = $v | Out-String
        $text | Should -Match ([regex]::Escape($Bad))
        $text | Should -Match 'Passed'
    }
    It 'keeps working as a condition' {
        if (Test-DaxFsImage $Bad) { throw 'a damaged image tested as true' }
        (Test-DaxFsImage $Deep) -eq $true | Should -BeTrue
    }
}

Describe 'ConvertTo-Json writes names, not numbers' {
    It '<What> has readable names' -TestCases @(
        @{ What = 'items'; Make = { Get-DaxFsItem $Basic -Path /a }; Property = 'Type'; Value = 'Directory' }
        @{ What = 'images'; Make = { Get-DaxFsImage $Basic }; Property = 'Mode'; Value = 'Static' }
        @{ What = 'findings'; Make = { Test-DaxFsImage $Basic -Detailed | Select-Object -First 1 }; Property = 'Severity'; Value = 'Warning' }
        @{ What = 'branches'; Make = { Get-DaxFsBranch (Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs') -Name main }; Property = 'State'; Value = 'Active' }
        @{ What = 'delta-log entries'; Make = { Get-DaxFsBranch (Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs') -Name feature -Log }; Property = 'Kind'; Value = '*' }
        @{ What = 'exported items'; Make = { Export-DaxFsItem $Basic -Path /a -Destination (Join-Path $Work "json-$(New-Guid)") -PassThru | Select-Object -First 1 }; Property = 'Type'; Value = 'Directory' }
        @{ What = 'image differences'; Make = { Compare-DaxFsImage $Basic $Deep | Select-Object -First 1 }; Property = 'Change'; Value = '*ed' }
        @{ What = 'space usage'; Make = { (Measure-DaxFsImage $Basic).Usage | Select-Object -First 1 }; Property = 'Kind'; Value = 'Superblock' }
        @{ What = 'branch changes'; Make = { Compare-DaxFsBranch (Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs') -Branch feature }; Property = 'Change'; Value = '*' }
    ) {
        $o = @(& $Make)
        $o.Count | Should -BeGreaterThan 0
        $json = $o[0] | ConvertTo-Json -Depth 1 | ConvertFrom-Json
        $json.$Property | Should -BeOfType string
        $json.$Property | Should -BeLike $Value
    }
    It 'item types still compare with the enum' {
        (Get-DaxFsItem $Basic -Path /a | Where-Object Type -eq ([DaxFs.Core.Format.DaxFsItemType]::Directory)).Name | Should -Be 'b'
    }
}

Describe 'New-DaxFsImage default destination' {
    BeforeAll {
        $script:Tree = Join-Path $Work 'tree'
        New-Item -ItemType Directory (Join-Path $Tree 'sub') -Force | Out-Null
        [IO.File]::WriteAllText((Join-Path $Tree 'sub/f'), "x`n")
        [IO.File]::WriteAllText((Join-Path $Tree 'top'), "top`n")
    }
    AfterEach { Set-Location $HOME }
    It '-Path . writes NAME.daxfs beside the source, not into it' {
        Set-Location $Tree
        $i = New-DaxFsImage -Path . -Verbose 4>&1 | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $i.Path | Should -Be (Join-Path $Work 'tree.daxfs')
        Test-Path (Join-Path $Tree 'tree.daxfs') | Should -BeFalse
        (Get-DaxFsContent $i -Path /sub/f) | Should -Be 'x'
    }
    It 'a source elsewhere goes to the current location' {
        $here = New-Item -ItemType Directory (Join-Path $Work 'here') -Force
        Set-Location $here
        (New-DaxFsImage -Path $Tree -Force).Path | Should -Be (Join-Path $here 'tree.daxfs')
    }
    It '-Path / is named rootfs.daxfs, and the build says how to leave the image''s folder out' {
        Set-Location $Work
        $e = { New-DaxFsImage -Path / -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxFsBuild.DestinationInsideSource,DaxFs.Commands.NewDaxFsImageCommand'
        $e.TargetObject | Should -Be (Join-Path $Work 'rootfs.daxfs')
        $e.Exception.Message | Should -Match ([regex]::Escape("-Exclude '$($Work.TrimStart('/'))'"))
    }
    It 'accepts a destination inside the source when its folder is excluded' {
        $i = New-DaxFsImage -Path $Tree -Destination (Join-Path $Tree 'sub/in.daxfs') -Exclude 'sub'
        (Get-DaxFsItem $i).Name | Should -Be 'top'
    }
}

Describe 'New-DaxFsImage -Verbose' {
    BeforeAll {
        $script:VTree = Join-Path $Work 'vtree'
        New-Item -ItemType Directory (Join-Path $VTree 'd'), (Join-Path $VTree 'skip') -Force | Out-Null
        [IO.File]::WriteAllText((Join-Path $VTree 'a'), 'hello')
        New-Item -ItemType HardLink (Join-Path $VTree 'd/a2') -Target (Join-Path $VTree 'a') | Out-Null
        [IO.File]::WriteAllText((Join-Path $VTree 'skip/x'), 'x')
        $f = [IO.File]::Create((Join-Path $VTree 'sparse')); try { $f.SetLength(8MB) } finally { $f.Dispose() }
    }
    It 'says what it found, the layout and the time of each phase, and warns of a sparse file' {
        $dest = Join-Path $Work 'verbose.daxfs'
        $records = New-DaxFsImage $VTree -Destination $dest -Exclude skip -Force -Verbose 4>&1 3>&1
        $verbose = ($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $warnings = ($records | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }).Message -join "`n"
        $verbose | Should -Match 'Scanned .* in [\d.]+ s: 4 inodes \(2 files, 2 directories, 0 symlinks\), 8388613 bytes of file data'
        $verbose | Should -Match '1 hard-link name, 1 excluded, 0 skipped, 1 sparse \(8388608 bytes of holes\)'
        $verbose | Should -Match 'Layout \([\d.]+ s\): static image of \d+ bytes'
        $verbose | Should -Match 'Wrote .* in [\d.]+ s'
        $warnings | Should -Match "sparse file .*'sparse'.*grows by 8388608 bytes .*\. Exclude them with -Exclude if they should not be in the image\."
    }
}

Describe 'Paths and names inside an image' {
    BeforeAll {
        # A tree with links as a root file system has them, a dangling one, a loop, names that are not UTF-8 or hold a
        # newline, and a directory of 958 entries.
        $script:PTree = Join-Path $Work 'ptree'
        New-Item -ItemType Directory (Join-Path $PTree 'usr/bin'), (Join-Path $PTree 'etc/ssh'), (Join-Path $PTree 'etc/x'), (Join-Path $PTree 'many') -Force | Out-Null
        [IO.File]::WriteAllText((Join-Path $PTree 'usr/bin/hello'), "#!/bin/sh`necho hello`n")
        [IO.File]::WriteAllText((Join-Path $PTree 'etc/ssh/sshd_config'), "Port 22`n")
        [IO.File]::WriteAllText((Join-Path $PTree 'etc/ssh/ssh_config'), "Host *`n")
        [IO.File]::WriteAllText((Join-Path $PTree 'etc/a.conf'), "top`n")
        [IO.File]::WriteAllText((Join-Path $PTree 'etc/x/a.conf'), "nested`n")
        [IO.File]::WriteAllText((Join-Path $PTree "etc/two`nlines"), "nl`n")
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'bin') -Target 'usr/bin' | Out-Null
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'sbin') -Target '/usr/bin' | Out-Null
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'etc/up') -Target '../usr' | Out-Null
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'lib') -Target 'usr/lib' | Out-Null
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'loop1') -Target 'loop2' | Out-Null
        New-Item -ItemType SymbolicLink (Join-Path $PTree 'loop2') -Target 'loop1' | Out-Null
        # A name with the byte 0xFF (made by sh: a .NET string cannot hold it).
        sh -c 'printf "raw bytes\n" > "$1/bad$(printf "\377")name"' sh $PTree
        # A directory with such a name, and a link to it.
        sh -c 'd="$1/raw$(printf "\377")dir"; mkdir "$d" && printf "in raw\n" > "$d/f" && ln -s "raw$(printf "\377")dir" "$1/toraw"' sh $PTree
        foreach ($i in 1..958) { [IO.File]::WriteAllText((Join-Path $PTree ('many/f{0:d4}' -f $i)), '') }
        $script:PImage = (New-DaxFsImage $PTree -Destination (Join-Path $Work 'paths.daxfs') -Force).Path
    }

    Context 'symlinks in the middle of a path' {
        It 'Get-DaxFsContent reads <Path> through the link' -TestCases @(
            @{ Path = '/bin/hello' }       # relative target
            @{ Path = '/sbin/hello' }      # absolute target, from the image root
            @{ Path = '/etc/up/bin/hello' } # '..' in a target goes to the parent of the link's directory
        ) {
            (Get-DaxFsContent $PImage -Path $Path)[1] | Should -Be 'echo hello'
        }
        It 'Get-DaxFsItem -Path follows links before the last component and lists the last one itself' {
            (Get-DaxFsItem $PImage -Path /bin/hello).FullName | Should -Be '/usr/bin/hello'
            (Get-DaxFsItem $PImage -Path /bin).Type | Should -Be 'SymbolicLink'
        }
        It 'Export-DaxFsItem extracts through the link' {
            $dest = Join-Path $Work 'via-link'
            Export-DaxFsItem $PImage -Path /bin/hello -Destination $dest
            Get-Content (Join-Path $dest 'hello') | Select-Object -Last 1 | Should -Be 'echo hello'
        }
        It 'says which link dangles' {
            Get-DaxFsContent $PImage -Path /lib/libc.so -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -Be 'DanglingSymbolicLink,DaxFs.Commands.GetDaxFsContentCommand'
            $errs[0].Exception.Message | Should -Match "'/lib' is a link to 'usr/lib', which is not in the image"
        }
        It 'stops a loop after 40 links' {
            Get-DaxFsContent $PImage -Path /loop1/x -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -Be 'TooManySymbolicLinks,DaxFs.Commands.GetDaxFsContentCommand'
            $errs[0].Exception.Message | Should -Match 'more than 40'
        }
        It 'a missing file behind a good link is not called a dangling link' {
            Get-DaxFsContent $PImage -Path /bin/nope -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -Be 'ItemNotFoundInImage,DaxFs.Commands.GetDaxFsContentCommand'
        }
    }

    Context 'the same tree as a format-8 image' {
        BeforeAll { $script:PImage8 = (New-DaxFsImage $PTree -Destination (Join-Path $Work 'paths8.daxfs') -Format 8 -Force).Path }
        It 'follows links in the middle of a path, names a dangling one and stops a loop' {
            (Get-DaxFsContent $PImage8 -Path /etc/up/bin/hello)[1] | Should -Be 'echo hello'
            Get-DaxFsContent $PImage8 -Path /lib/libc.so, /loop1/x -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs.FullyQualifiedErrorId | Should -Be @('DanglingSymbolicLink,DaxFs.Commands.GetDaxFsContentCommand', 'TooManySymbolicLinks,DaxFs.Commands.GetDaxFsContentCommand')
        }
        It 'pipes an item whose name is not UTF-8 on to Get-DaxFsContent' {
            Get-DaxFsItem $PImage8 | Where-Object Name -like 'bad*name' | Get-DaxFsContent | Should -Be 'raw bytes'
        }
        It 'writes readable JSON for its items' {
            (Get-DaxFsItem $PImage8 -Path /usr | ConvertTo-Json -Depth 1 | ConvertFrom-Json).Type | Should -Be 'Directory'
        }
    }

    Context 'names that are not UTF-8' {
        It 'an item piped on reads its own file' {
            $item = Get-DaxFsItem $PImage | Where-Object Name -like 'bad*name'
            $item.Name | Should -Be "bad$([char]0xFFFD)name"
            $item | Get-DaxFsContent | Should -Be 'raw bytes'
        }
        It 'an item piped on exports under its own bytes' {
            $dest = Join-Path $Work 'raw-export'
            Get-DaxFsItem $PImage | Where-Object Name -like 'bad*name' | Export-DaxFsItem -Destination $dest
            sh -c 'cat "$1/bad$(printf "\377")name"' sh $dest | Should -Be 'raw bytes'
        }
    }

    Context 'links whose targets are not UTF-8' {
        It 'resolves through them by their bytes' {
            Get-DaxFsContent $PImage -Path /toraw/f | Should -Be 'in raw'
            $item = Get-DaxFsItem $PImage -Path /toraw/f
            $item.FullName | Should -Be "/raw$([char]0xFFFD)dir/f"
            $item | Get-DaxFsContent | Should -Be 'in raw'
        }
        It 'says why such a directory cannot be listed by path' {
            Get-DaxFsItem $PImage -Path /toraw/ -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -Be 'PathNotUtf8,DaxFs.Commands.GetDaxFsItemCommand'
            (Get-DaxFsItem $PImage -Path /toraw).Type | Should -Be 'SymbolicLink'
        }
    }

    Context 'export keeps image paths' {
        It '-KeepPath puts each item at its path under the destination, so equal names do not collide' {
            $dest = Join-Path $Work 'confs'
            Get-DaxFsItem $PImage -Recurse -Filter *.conf | Export-DaxFsItem -Destination $dest -KeepPath
            Get-Content (Join-Path $dest 'etc/a.conf') | Should -Be 'top'
            Get-Content (Join-Path $dest 'etc/x/a.conf') | Should -Be 'nested'
        }
        It 'shows its progress with a percentage' {
            $dest = Join-Path $Work 'progress'
            $ps = [PowerShell]::Create()
            try {
                $null = $ps.AddCommand('Import-Module').AddArgument($env:DAXFS_MODULE_PATH).AddStatement()
                $null = $ps.AddScript('$ProgressPreference = "Continue"').AddStatement()
                $null = $ps.AddCommand('Export-DaxFsItem').AddParameter('Image', $PImage).AddParameter('Destination', $dest)
                $ps.Invoke() | Out-Null
                $running = @($ps.Streams.Progress | Where-Object RecordType -eq 'Processing')
                $running.Count | Should -BeGreaterThan 0
                $running[0].PercentComplete | Should -BeIn (0..100)
                $running[0].StatusDescription | Should -Match '^\d+ of 981 items, .* of 112 B$'
                @($ps.Streams.Progress | Where-Object RecordType -eq 'Completed').Count | Should -Be 1
            } finally { $ps.Dispose() }
        }
    }

    Context 'tab completion' {
        It 'quotes a name with a newline, so the argument is the name' {
            $line = "Get-DaxFsItem '$PImage' -Path /etc/two"
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Should -Be @("'/etc/two`nlines'")
            $ast = [System.Management.Automation.Language.Parser]::ParseInput("Get-DaxFsContent x $($r.CompletionMatches[0].CompletionText)", [ref]$null, [ref]$null)
            $ast.EndBlock.Statements[0].PipelineElements[0].CommandElements[2].Value | Should -Be "/etc/two`nlines"
        }
        It 'completes -Path for an image piped in from a variable' {
            $img = Get-Item $PImage
            $line = '$img | Get-DaxFsItem -Path /etc/ssh/ss'
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Should -Be @('/etc/ssh/ssh_config', '/etc/ssh/sshd_config')
        }
        It 'completes -Path for an image piped in from Get-Item' {
            $line = "Get-Item '$PImage' | Get-DaxFsContent -Path /usr/bin/h"
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Should -Be @('/usr/bin/hello')
        }
        It 'offers every entry of a large directory' {
            $line = "Get-DaxFsItem '$PImage' -Path /many/"
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.Count | Should -Be 958
        }
        It 'completes -Path inside a format-8 image as a mount shows it (overlay entries included)' {
            $only = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs'
            $line = "Get-DaxFsContent '$only' -Path /sub-moved/"
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Sort-Object | Should -Be @('/sub-moved/big.bin', '/sub-moved/shrunk-moved.bin')
            $img = Get-Item (Join-Path $Vectors 'v8/basic.v8.static.daxfs')
            $line = '$img | Get-DaxFsItem -Path /a/b/c/h'
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Should -Be @('/a/b/c/hello.txt')
        }
        It 'Get-DaxFsBranch -Name offers branch names' {
            $line = "Get-DaxFsBranch '$(Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs')' -Name "
            $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $r.CompletionMatches.CompletionText | Should -Contain 'feature'
            $r.CompletionMatches.ResultType | Should -Not -Contain 'ProviderItem'
        }
    }
}

Describe 'The module words every next step the engine names' {
    # The engine describes a problem and names what to do next as a fact (DaxFs.Core.Errors.NextStep); only the module
    # names its cmdlets and parameters (issue 17). A step without words here would leave an operator without the advice.
    It 'has a sentence for each step, and each names a cmdlet or a parameter' {
        $type = [DaxFs.Commands.MountDaxFsCommand].Assembly.GetType('DaxFs.Internal.NextSteps', $true)
        $steps = [Enum]::GetValues([DaxFs.Core.Errors.NextStep]) | Where-Object { "$_" -ne 'None' }
        $steps.Count | Should -BeGreaterThan 30
        $unworded = foreach ($step in $steps) {
            $text = $type.GetMethod('Text').Invoke($null, @([DaxFs.Core.Errors.NextStep]$step.PSObject.BaseObject, 'TARGET'))
            if ([string]::IsNullOrWhiteSpace($text) -or $text -notmatch '[A-Z][a-z]+-(Dax|Item|Process)[A-Za-z]*|(?<![\w-])-[A-Z][a-z]+') { "$step" }
        }
        $unworded | Should -BeNullOrEmpty
        $type.GetMethod('Text').Invoke($null, @([DaxFs.Core.Errors.NextStep]::None, 'TARGET')) | Should -BeNullOrEmpty
    }
}
